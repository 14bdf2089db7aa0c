"""The NGSI-LD API (ETSI GS CIM 009) over perception's entities, at /ngsi-ld/v1."""
