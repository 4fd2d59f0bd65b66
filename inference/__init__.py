"""Inference workers: pull AI jobs from JetStream, build the prompt, run a model
backend, stream tokens back, store the reply once, then acknowledge."""
