"""Steward's local Kubernetes control plane: upstream binaries on loopback, KWOK for nodes.

``localcluster.py`` beside this package is the command line. The modules, in the order a
cluster comes to life:

* ``layout``: where binaries, state and logs live, and which ports a cluster uses.
* ``build``: compiles the six binaries from the pinned Go modules into a keyed cache.
* ``pki``: the certificate authority, certificates and kubeconfigs, made with openssl.
* ``components``: the command line of each control-plane process and the KWOK config.
* ``processes``: starting, probing and stopping detached processes.
* ``seed``: the fake nodes, the ``local`` StorageClass and the local PersistentVolumes.
* ``cluster``: ``up``, ``down`` and ``status``, tying the above together.
"""
