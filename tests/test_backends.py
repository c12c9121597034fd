"""fastmlp/backends.py: the one name -> module table."""

def test_backends_are_the_modules_they_name():
    from fastmlp import kernels, reference
    from fastmlp.backends import get_backend
    assert get_backend("reference") is reference and get_backend("numba") is kernels
