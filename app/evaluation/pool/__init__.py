"""The expert pool: experts, their specialties and relationships, the pool a draw is made from."""
