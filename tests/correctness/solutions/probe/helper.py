HELPER_NAME = __name__
