"""The job's own vocabulary, shared by every step of a job and by the command line.

Standard library only (plus :mod:`gt_contracts`): no AWS SDK, no I/O of its own. Clients are
passed in where a contract needs one (:class:`job_contracts.tokens.TokenStore`).

* :mod:`job_contracts.ids`: job ids, labeling-job names, manifest suffixes, event keys;
* :mod:`job_contracts.layout`: every S3 key and prefix of a job;
* :mod:`job_contracts.steps`: the payloads passed between the workflow's states;
* :mod:`job_contracts.tokens`: the task-token store, outcomes and resume;
* :mod:`job_contracts.skills`: worker skill as stored, and the prior's merge.
"""
