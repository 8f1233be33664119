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

"""Sphinx configuration of the vdi-broker release notes.

Build with ``tox -e releasenotes``. reno reads the notes from git history
(releasenotes/notes/*.yaml), so the tree needs at least one commit.
"""

# -- General configuration ----------------------------------------------

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

templates_path = ['_templates']
source_suffix = '.rst'
master_doc = 'index'

project = 'vdi-broker Release Notes'
copyright = '2026, vdi-broker developers'

# Release notes are not versioned like the code.
version = ''
release = ''

exclude_patterns = []
pygments_style = 'native'

# -- openstackdocstheme -------------------------------------------------

openstackdocs_repo_name = 'openstack/vdi-broker'
openstackdocs_bug_project = 'vdi-broker'
openstackdocs_bug_tag = 'releasenotes'
openstackdocs_auto_name = False

# -- Options for HTML output --------------------------------------------

html_theme = 'openstackdocs'
html_static_path = ['_static']
htmlhelp_basename = 'vdi-brokerReleaseNotesdoc'

# -- Options for Internationalization output ----------------------------

locale_dirs = ['locale/']
