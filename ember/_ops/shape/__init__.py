"""Shape ops: views (``view``, ``transpose``, ``expand``, ``narrow``, ``diagonal``, strided views
of storage), reshapes (``flatten``, ``movedim``, ``ravel``, ``unfold``), joining and splitting
(``cat``, ``stack``, ``split``, ``chunk``), copies that rearrange data (``flip``, ``roll``,
``repeat``, ``tril``, ``diag``, ``pad``, ``rot90``) and builders (``meshgrid``, ``block_diag``,
``tril_indices``, ``vander`` ...). Views made by indexing use the ``indexing`` family below."""
