"""The OpenAPI document of the API (public)."""

from vdi_broker.api import util


def show(req):
    # Imported here: the document is built from the route table, which
    # imports this module.
    from vdi_broker.api import openapi
    return util.json_response(openapi.build(req.application_url))
