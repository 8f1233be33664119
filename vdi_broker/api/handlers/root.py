"""The version document."""

from vdi_broker.api import microversion
from vdi_broker.api import util


def _version(req):
    return {
        "id": "v1",
        "status": "CURRENT",
        "min_version": microversion.MIN_VERSION,
        "max_version": microversion.MAX_VERSION,
        "links": [{"rel": "self", "href": req.application_url + "/v1"}],
    }


def versions(req):
    return util.json_response({"versions": [_version(req)]})


def v1(req):
    return util.json_response({"version": _version(req)})
