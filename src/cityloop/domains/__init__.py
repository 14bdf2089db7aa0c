"""The four domains: governance now; services, operations and the open platform to come."""
