"""The fuzz suite: every public RPC, from the descriptors, against a running mesh.

A new RPC is covered without a new test: the list of methods comes from the public protos'
descriptors, the messages from hypothesis strategies built from each request type's
fields (``strategies.py``). ``make test`` runs a fixed, derandomised number of examples per
RPC; ``make fuzz`` runs many more (FRONTDESK_FUZZ_EXAMPLES).
"""
