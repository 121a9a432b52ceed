"""The closed systems and their processes: a `System` (programs,
environment, bounds, properties, expected verdict), the environment's
processes (scripted peers, pairs, free peers, the clock, cancellers,
threads) and the loop's policies as the checker steps them, deliberately
broken ones included. Imports only refloop.model."""
