"""The performance harness behind `make bench` (`python -m benchmarks`): overhead over the MCP SDK floor and over a
direct Dataverse call, round trips per tool call, cold start, throughput and memory under load, and output
compactness. Every figure is a median of repeated runs measured in the same run as its reference; results are printed
as a table and written to benchmarks/results.json. Nothing here is imported by the app or the tests."""
