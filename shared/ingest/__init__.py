"""What case systems send: CloudEvents 1.0 from Mosaic or LCS (CONTRACT.md, "Events from case systems").

- `shared.ingest.data`: one pydantic model per event type for its `data` (children named by
  `la_reference`, IROs by `email`); these are commands from outside, never the footprint's facts
  (`shared.footprint.events`).
- `shared.ingest.envelope`: a request body to its elements, each checked as a CloudEvent 1.0
  (the maintained `cloudevents` SDK) and its `data` by type.
- `shared.ingest.signing`: Standard Webhooks signatures (the maintained `standardwebhooks` package),
  for the gateway to verify and for clients (the simulator, tests, benchmarks) to sign.
- `shared.ingest.commands`: what the gateway sends a service's batch command path and gets back.

docs/integration.md is the integrator's guide.
"""
