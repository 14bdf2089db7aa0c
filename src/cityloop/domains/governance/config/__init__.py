"""The city's governance configuration, edited by admins in the console: categories with their
attributes and SLA targets, routing rules, and the "test a point" probe. Every edit is versioned
and audited through identity's ``versions``."""
