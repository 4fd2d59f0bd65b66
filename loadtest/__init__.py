"""Load tests (locust with gRPC users) and the benchmark harness behind `make bench`."""
