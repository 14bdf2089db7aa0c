"""The outbound webhook queue: notifications queued in the caller's transaction and sent by a
dispatcher through the outbound client (docs/webhooks.md)."""
