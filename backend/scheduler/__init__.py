"""The scheduler: one leader among any number of runners runs the registered jobs (``iog scheduler run``)."""
