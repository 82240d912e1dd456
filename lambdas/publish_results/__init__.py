"""Publishing a finished labeling job: pure readers, exports and the quality report.

:mod:`publish_results.manifest` reads output manifests into typed records,
:mod:`publish_results.exports` turns them into training-ready files and
:mod:`publish_results.report` into a quality report (a JSON-able dict and one HTML page).
Nothing here talks to AWS or touches a file system: the caller reads the manifests and the
worker-skill documents, passes their text in, and uploads the bytes that come back.
"""
