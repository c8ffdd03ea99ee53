"""botify: the recommender service (HTTP API, Redis store, recommenders, assignment, event log)."""
