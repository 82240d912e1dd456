"""Running LabelFlow's AWS pieces on a laptop, offline.

``lambda_runtime`` runs a handler in-process; ``server.LocalAws`` is the local AWS emulator
(moto in server mode with the adaptations in ``patches``, and the SageMaker/A2I fakes in
``fake_sagemaker`` answered by a ``workforce``); ``deploy`` puts a synthesized CDK stack
into it.
"""
