# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx configuration of the vdi-broker documentation.

Build it with ``tox -e docs`` (sphinx-build -W: warnings are errors). The
oslo extensions import vdi_broker through its entry points, so the package
must be installed in the build environment (the docs tox env does that).
"""

# -- General configuration ----------------------------------------------

extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'oslo_policy.sphinxext',
    'oslo_policy.sphinxpolicygen',
    # autoprogram-cliff: the reference of the openstack vdi commands.
    'cliff.sphinxext',
]

# oslo_config.sphinxconfiggen: writes _static/vdi-broker.conf.sample
# (paths are relative to this directory).
config_generator_config_file = (
    '../../etc/vdi-broker/vdi-broker-config-generator.conf')
sample_config_basename = '_static/vdi-broker'

# oslo_policy.sphinxpolicygen: writes _static/vdi-broker.policy.yaml.sample;
# the show-policy directive reuses the same generator file.
policy_generator_config_file = (
    '../../etc/vdi-broker/vdi-broker-policy-generator.conf')
sample_policy_basename = '_static/vdi-broker'

templates_path = []
source_suffix = '.rst'
master_doc = 'index'

project = 'vdi-broker'
copyright = '2026, vdi-broker developers'

exclude_patterns = ['_build']
pygments_style = 'native'
add_module_names = False
show_authors = False

# -- openstackdocstheme -------------------------------------------------

# The theme works offline: it reads the version and "last updated" dates
# from the local git tree and links to these names, fetching nothing.
openstackdocs_repo_name = 'openstack/vdi-broker'
openstackdocs_bug_project = 'vdi-broker'
openstackdocs_bug_tag = 'docs'
openstackdocs_auto_name = False
openstackdocs_pdf_link = False

# -- Options for HTML output --------------------------------------------

html_theme = 'openstackdocs'
html_static_path = ['_static']
htmlhelp_basename = 'vdi-brokerdoc'

# -- Options for LaTeX output -------------------------------------------

latex_documents = [
    ('index', 'doc-vdi-broker.tex', 'vdi-broker Documentation',
     'vdi-broker developers', 'manual'),
]
latex_use_xindy = False
