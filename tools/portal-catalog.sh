#!/bin/bash
# Extract the portal's messages and update and compile its catalogues
# (vdi_broker/portal/locale/<lang>/LC_MESSAGES/vdi_broker_portal.po/.mo)
# with Babel (test-requirements.txt). Run it after changing a message;
# then translate the new entries of each .po and run it again to
# compile. tests/unit/portal/test_i18n.py fails while a message has no
# translation or a .mo is older than its .po.
set -eu -o pipefail

cd "$(dirname "$0")/.."
pybabel=${PYBABEL:-pybabel}
[ -x .venv/bin/pybabel ] && pybabel=${PYBABEL:-.venv/bin/pybabel}
domain=vdi_broker_portal
locale_dir=vdi_broker/portal/locale
pot=$(mktemp)
trap 'rm -f "$pot"' EXIT

"$pybabel" -q extract -F vdi_broker/portal/babel.cfg -k N_ -k gettext \
    -k ngettext:1,2 --no-location --sort-output \
    --project vdi-broker-portal -o "$pot" . >/dev/null
for po in "$locale_dir"/*/LC_MESSAGES/$domain.po; do
    lang=$(basename "$(dirname "$(dirname "$po")")")
    "$pybabel" update -D "$domain" -i "$pot" -d "$locale_dir" -l "$lang" \
        --no-fuzzy-matching --omit-header=false >/dev/null 2>&1 ||
        "$pybabel" update -D "$domain" -i "$pot" -d "$locale_dir" \
            -l "$lang" --no-fuzzy-matching >/dev/null
done
"$pybabel" -q compile -D "$domain" -d "$locale_dir" --statistics
