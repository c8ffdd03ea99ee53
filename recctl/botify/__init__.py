"""botify: the recommender service, one replica a process.

    main.py, __main__.py    the replica's command line (`recctl serve`, `python -m recctl.botify`)
    server.py, protocol.py  uvicorn with the limits slow clients need
    app.py                  the ASGI router; validation.py client input, 4xx errors
    service.py              the arms answering /next and /last, each request logged
    readiness.py            Redis reachable and the artifacts loaded (loader.py), or 503
    store.py                the Redis-backed Store the recommenders read; keys.py its keys
    redis_client.py         the request pool and the probe connection
    settings.py             the replica's options and RECCTL_* variables

The recommenders are recctl.recommenders, the user-to-arm hash recctl.assignment and the
event log recctl.eventlog: the same code the simulator, training and the report use.
"""
