"""The version document."""

from vdi_broker.api import microversion
from vdi_broker.api import openapi
from vdi_broker.api import util

# The documentation (setup.cfg's home_page): the install, admin and
# configuration guides and the API reference.
DOCS_URL = "https://docs.openstack.org/vdi-broker/latest/"
# RFC 8631 link relations: the machine-readable description of the API
# (the OpenAPI document) and its human-readable documentation.
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=%s" % (
    openapi.OPENAPI_VERSION)


def _version(req):
    base = req.application_url
    return {
        "id": "v1",
        "status": "CURRENT",
        "min_version": microversion.MIN_VERSION,
        "max_version": microversion.MAX_VERSION,
        "links": [
            {"rel": "self", "href": base + "/v1"},
            {"rel": "service-desc", "type": OPENAPI_TYPE,
             "href": base + openapi.PATH},
            {"rel": "service-doc", "type": "text/html",
             "href": DOCS_URL + "api-ref/"},
        ],
    }


def versions(req):
    return util.json_response({"versions": [_version(req)]})


def v1(req):
    return util.json_response({"version": _version(req)})
