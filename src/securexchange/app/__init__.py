"""The gemeente-app: a Dutch browser interface over the municipal workflows.

``securexchange municipality app`` serves it on 127.0.0.1 for the one person who
started it. It is a client of the same functions as the command line (import, open,
set-status, report-quality, return, shred): no workflow is implemented twice here.
Modules, one concept each:

- :mod:`.launch`: the single-use launch token and the 0600 launch file that posts it;
- :mod:`.session`: the session cookie, the CSRF token and the unlocked key (dropped
  after 15 idle minutes);
- :mod:`.peer`: who owns the other end of a loopback connection (Linux);
- :mod:`.guard`: what every request must prove, and the headers of every response;
- :mod:`.homes`: the home opened, shredded first and locked for one request;
- :mod:`.pages` and :mod:`.people_page`: the pages;
- :mod:`.server`: the socket, the server, the minute's shredding and the browser.

Flask, waitress and Jinja2 are imported only here, so ``--help`` stays light.
"""
