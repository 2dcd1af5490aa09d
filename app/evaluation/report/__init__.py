"""The evaluation report and its signatures, publicity of the candidates, objections, the award."""
