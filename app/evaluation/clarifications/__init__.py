"""Clarifications during the evaluation: the committee asks a bidder, the bidder answers in writing."""
