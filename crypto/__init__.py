"""Pure cryptographic library of the platform: age v1 envelopes, keys, secret sharing, signatures,
canonical serialisation and the Merkle evidence log. Imports nothing from app/."""
