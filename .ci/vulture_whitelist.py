"""Names vulture cannot see used: each is used by a library or by Python itself.

Read by vulture (``.ci/run``), never run. Click commands (``@*.command``, ``@*.group``)
and pytest fixtures are left out by the command line instead; everything else that is
reported is dead and is deleted, not listed here.
"""

# ruff: noqa: B018 - bare attribute references are how vulture whitelists are written

_ = object()

# Attributes set on openpyxl objects: openpyxl reads them when it writes the .xlsx
# (sheets/workbook.py, sheets/memory.py, sheets/tables.py, sheets/master_write.py).
_.alignment
_.autoFilter
_.charts
_.creator
_.data_type
_.formatColumns
_.formatRows
_.height
_.images
_.lastModifiedBy
_.modified
_.number_format
_.paperSize
_.print_title_rows
_.security
_.tabColor
_._value  # tests/test_sheetxml.py binds a cell the way sheets/memory.py does

# Methods openpyxl calls on our subclasses (sheets/memory.py).
_._values_to_row  # WriteOnlyWorksheet.append
_.write_worksheet  # ExcelWriter.write_data

# Methods click calls on our subclass, and its context object (cli/main.py).
_.format_commands  # click.Group.format_help
_.obj  # click.Context.obj, read back by every command through click.pass_obj

# Methods io calls on file-like test doubles (tests/test_age_readahead.py,
# tests/test_zipstrict.py): real files with a twist, not mocks.
_.readable
_.writable

# LibreOffice's UNO cell property, set through the bridge (tests/lo_edit.py).
_.Value

# Dataclass fields filled positionally from a row or a table, kept for the reader.
_.resolved_at  # agency/ledger.py QualityRow(*row), from the SELECT in quality_reports
_.country  # intake/sample.py Origin: names the origin a row of names belongs to
_.staff2_fingerprint  # tests/test_audit_verify.py Corpus, kept beside its artifacts

# Fields of municipality/status.py's VaultStatus parts, read through dataclasses.asdict
# by VaultStatus.to_json (the --json document).
_.stale
_.file_remains

# A pytest fixture requested for its effect (tests/test_cli_wrong_kind.py).
_.clean_env

# __exit__'s parameters are Python's protocol, used or not.
_.exc_type
_.exc

# Help texts set on click objects in the run's language: click reads ``help`` when it
# prints --help (cli/main.py, RootGroup).
_.help

# click calls these on our command and group classes when it prints --help and makes
# subcommands (cli/translated.py).
_.format_usage
_.command_class
# click makes its contexts and help formatters from these class attributes.
_.context_class
_.formatter_class

# The fields of GDPR art. 33(3) in an incident's details, read and written by name
# through IncidentDetails.TEXT_FIELDS (artifacts/incident.py, cli/incident_views.py).
_.categories
_.dpo_contact
_.consequences
_.measures

# The stand-in web server of the browser harness (tests/stand_in.py): http.server calls
# the handler's do_GET, do_POST and log_message, and reads daemon_threads.
_.do_GET
_.do_POST
_.log_message
_.daemon_threads

# Selenium reads the browser's path from ChromeOptions (tests/browser.py,
# benchmarks/app.py).
_.binary_location
