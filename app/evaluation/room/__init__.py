"""The evaluation room: opened bids, the chair, compliance review, score sheets, aggregation, the result."""
