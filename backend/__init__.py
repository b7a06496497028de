"""iog backend: API, domain services, rewards engine, scheduler, DB models, chain clients, CLI."""

__version__ = "0.1.0"
