"""The application platform: identity, geo, media, notification channels and the webhook queue."""
