#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Helpers of the views: lists a page at a time, form fields, actions."""

import datetime
import urllib.parse
import zoneinfo

from vdi_broker.portal import api


def listing(req, path, key, filters, sort_key=None, sort_dir=None):
    """One page of a collection, with the query to fetch the next.

    ``filters``: names of query parameters passed on to the API. Returns
    a dict with ``items``, ``next_url`` (None on the last page),
    ``first_url`` (None on the first page) and ``filters`` (the values).
    """
    values = {name: req.GET.get(name, "").strip() for name in filters}
    params = {k: v for k, v in values.items() if v}
    params["limit"] = req.portal.conf.portal.page_size
    if sort_key:
        params["sort_key"] = sort_key
    if sort_dir:
        params["sort_dir"] = sort_dir
    marker = req.GET.get("marker")
    if marker:
        params["marker"] = marker
    items, next_marker = req.api().page(path, key, params)
    query = {k: v for k, v in values.items() if v}
    next_url = None
    if next_marker:
        next_url = req.path + "?" + urllib.parse.urlencode(
            dict(query, marker=next_marker))
    first_url = None
    if marker:
        first_url = req.path + ("?" + urllib.parse.urlencode(query)
                                if query else "")
    return {"items": items, "next_url": next_url, "first_url": first_url,
            "filters": values}


def integer(req, name, minimum=0):
    """A form field as an int, or ValueError with the field's name."""
    value = req.POST.get(name, "").strip()
    try:
        number = int(value)
    except ValueError:
        raise ValueError(req.gettext("%(field)s must be a whole number.",
                                     field=name))
    if number < minimum:
        raise ValueError(req.gettext("%(field)s must be at least "
                                     "%(minimum)s.", field=name,
                                     minimum=minimum))
    return number


def words(value):
    """Tags typed as words separated by commas or spaces."""
    items = []
    for word in (value or "").replace(",", " ").split():
        if word not in items:
            items.append(word)
    return items


def optional(value):
    value = (value or "").strip()
    return value or None


def run(req, what, call, success, next_default):
    """Call the API; show ``success`` or the API's error on the next page.

    ``call`` does the request; ``success`` is a message, or a function
    of the call's result that returns one.
    """
    try:
        result = call()
    except api.ApiError as e:
        return req.done(req.api_failure(e, what), next_default)
    except ValueError as e:
        return req.done(("error", str(e)), next_default)
    text = success(result) if callable(success) else success
    return req.done(("ok", text), next_default)


def pools_by_id(req):
    pools, _ = req.api().all("/pools", "pools")
    return {p["id"]: p for p in pools}


def desktops_on_host(host):
    """The desktops page, filtered by a compute host."""
    return "/desktops?" + urllib.parse.urlencode({"host": host})


def local_to_utc(value, zone=None, offset=None):
    """A datetime-local value (the viewer's time) as UTC ISO 8601.

    ``zone``: the browser's IANA time zone (the page's script sends it),
    which gives the right offset on the day named, summer time or not;
    else ``offset``, the browser's getTimezoneOffset() now (minutes,
    UTC minus local); without either the time is UTC. None when
    ``value`` is empty or not a time.
    """
    if not value:
        return None
    try:
        local = datetime.datetime.strptime(value[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    tz = None
    if zone:
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
            tz = None
    try:
        if tz is not None:
            utc = local.replace(tzinfo=tz).astimezone(
                datetime.timezone.utc)
        else:
            try:
                minutes = int(offset or 0)
            except ValueError:
                minutes = 0
            if abs(minutes) > 24 * 60:
                minutes = 0
            utc = local + datetime.timedelta(minutes=minutes)
    except OverflowError:
        return None
    return utc.strftime("%Y-%m-%dT%H:%M:00Z")
