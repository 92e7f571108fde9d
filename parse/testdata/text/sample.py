import os
import sys

# configuration note number 0 for the worker service
# configuration note number 1 for the worker service
# configuration note number 2 for the worker service
# configuration note number 3 for the worker service
# configuration note number 4 for the worker service
# configuration note number 5 for the worker service
# configuration note number 6 for the worker service
# configuration note number 7 for the worker service
# configuration note number 8 for the worker service
# configuration note number 9 for the worker service
# configuration note number 10 for the worker service
# configuration note number 11 for the worker service


def restart(worker):
    """Restart the worker."""

    os.system('systemctl restart ' + worker)


class Pager:
    def page(self):
        return True
