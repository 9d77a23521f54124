"""The learning pipeline: training pool, candidate collection, models, reports (``make model``)."""
