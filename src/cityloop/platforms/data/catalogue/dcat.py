"""The open catalogue as DCAT-AP (3.0) RDF, built with rdflib, for national portals to harvest.

Themes, frequencies and file types are the EU authority tables DCAT-AP names; titles and
descriptions carry both languages as language-tagged literals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.catalogue.vocabularies import EU_VOCABULARIES, LICENCES

SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
FILE_TYPES = {"CSV": "CSV", "JSON": "JSON", "GeoJSON": "GEOJSON", "Parquet": "PARQUET"}
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
SERIALISATIONS = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml"),
}


def _texts(
    graph: Graph, subject: URIRef | BNode, predicate: URIRef, english: str, chinese: str
) -> None:
    if english:
        graph.add((subject, predicate, Literal(english, lang="en")))
    if chinese:
        graph.add((subject, predicate, Literal(chinese, lang="zh")))


def _moment(value: datetime) -> Literal:
    return Literal(value.replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


def catalogue_graph(
    *,
    base_url: str,
    city: tuple[str, str],
    datasets: Sequence[Dataset],
    distributions: Mapping[int, Sequence[Distribution]],
    departments: Mapping[str, Department],
) -> Graph:
    """The DCAT-AP graph of these datasets and their distributions."""
    graph = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("spdx", SPDX),
                              ("vcard", VCARD), ("adms", ADMS)):  # fmt: skip
        graph.bind(prefix, namespace)
    root = base_url.rstrip("/")
    catalogue = URIRef(f"{root}/api/v1/data/catalog")
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    _texts(graph, catalogue, DCTERMS.title, f"{city[0]} open data", f"{city[1]}公共数据开放目录")
    _texts(graph, catalogue, DCTERMS.description,
           f"Open datasets of the city of {city[0]}.", f"{city[1]}开放的数据集。")  # fmt: skip
    graph.add((catalogue, FOAF.homepage, URIRef(f"{root}/app/open-data")))
    publisher = URIRef(f"{root}/#city")
    graph.add((publisher, RDF.type, FOAF.Agent))
    _texts(graph, publisher, FOAF.name, city[0], city[1])
    graph.add((catalogue, DCTERMS.publisher, publisher))
    for dataset in datasets:
        node = URIRef(f"{root}/api/v1/data/datasets/{dataset.name}")
        graph.add((catalogue, DCAT.dataset, node))
        _dataset(graph, node, dataset, root, departments.get(dataset.owner_department))
        for distribution in distributions.get(dataset.id, ()):
            _distribution(graph, node, dataset, distribution, root)
    return graph


def _dataset(
    graph: Graph, node: URIRef, dataset: Dataset, root: str, owner: Department | None
) -> None:
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(dataset.name)))
    _texts(graph, node, DCTERMS.title, dataset.title, dataset.title_zh)
    _texts(graph, node, DCTERMS.description, dataset.description, dataset.description_zh)
    for word in dataset.keywords:
        graph.add((node, DCAT.keyword, Literal(word)))
    graph.add((node, DCAT.theme, URIRef(f"{EU_VOCABULARIES}data-theme/{dataset.theme}")))
    frequency = URIRef(f"{EU_VOCABULARIES}frequency/{dataset.frequency}")
    graph.add((node, DCTERMS.accrualPeriodicity, frequency))
    graph.add((node, DCTERMS.issued, _moment(dataset.created_at)))
    graph.add((node, DCTERMS.modified, _moment(dataset.modified_at)))
    graph.add((node, DCAT.landingPage, URIRef(f"{root}/app/open-data/{dataset.name}")))
    graph.add((node, DCTERMS.accessRights,
               URIRef(f"{EU_VOCABULARIES}access-right/PUBLIC")))  # fmt: skip
    if dataset.spatial:
        place = BNode()
        graph.add((node, DCTERMS.spatial, place))
        graph.add((place, RDF.type, DCTERMS.Location))
        graph.add((place, DCTERMS.identifier, Literal(dataset.spatial)))
    if dataset.temporal_start or dataset.temporal_end:
        period = BNode()
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if dataset.temporal_start:
            graph.add((period, DCAT.startDate, _moment(dataset.temporal_start)))
        if dataset.temporal_end:
            graph.add((period, DCAT.endDate, _moment(dataset.temporal_end)))
    agent = URIRef(f"{root}/api/v1/departments#{dataset.owner_department}")
    graph.add((node, DCTERMS.publisher, agent))
    graph.add((agent, RDF.type, FOAF.Agent))
    contact = BNode()
    graph.add((node, DCAT.contactPoint, contact))
    graph.add((contact, RDF.type, VCARD.Organization))
    if owner is not None:
        _texts(graph, agent, FOAF.name, owner.name, owner.name_zh)
        _texts(graph, contact, VCARD.fn, owner.name, owner.name_zh)
    else:
        graph.add((agent, FOAF.name, Literal(dataset.owner_department)))
        graph.add((contact, VCARD.fn, Literal(dataset.owner_department)))


def _distribution(
    graph: Graph, dataset_node: URIRef, dataset: Dataset, distribution: Distribution, root: str
) -> None:
    url = URIRef(f"{root}/api/v1/data/datasets/{dataset.name}/distributions/{distribution.id}")
    node = URIRef(f"{root}/api/v1/data/distributions/{distribution.id}")
    graph.add((dataset_node, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCAT.accessURL, url))
    graph.add((node, DCAT.downloadURL, url))
    _texts(graph, node, DCTERMS.title, f"{dataset.title} ({distribution.format})",
           f"{dataset.title_zh}（{distribution.format}）")  # fmt: skip
    file_type = URIRef(f"{EU_VOCABULARIES}file-type/{FILE_TYPES[distribution.format]}")
    graph.add((node, DCTERMS.format, file_type))
    graph.add((node, DCAT.mediaType, URIRef(MEDIA_TYPES + distribution.media_type)))
    graph.add(
        (node, DCAT.byteSize, Literal(distribution.byte_size, datatype=XSD.nonNegativeInteger))
    )
    checksum = BNode()
    graph.add((node, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((checksum, SPDX.checksumValue, Literal(distribution.sha256, datatype=XSD.hexBinary)))
    licence_url = LICENCES.get(dataset.licence, ("", "", ""))[2]
    if licence_url:
        graph.add((node, DCTERMS.license, URIRef(licence_url)))
    if distribution.generated_at:
        graph.add((node, DCTERMS.modified, _moment(distribution.generated_at)))


def serialise(graph: Graph, extension: str) -> tuple[bytes, str]:
    """The graph in the serialisation of this file extension, with its media type."""
    fmt, media_type = SERIALISATIONS[extension]
    data = graph.serialize(format=fmt, encoding="utf-8")
    return data, media_type
