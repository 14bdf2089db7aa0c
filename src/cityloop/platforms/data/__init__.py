"""The data platform: perception (devices, ingest, rules, alarms) and its NGSI-LD context broker."""
