"""The analyst workspace pages: dashboard, explore (table, charts, map), record detail,
saved queries, downloads, the hospital transparency page and the monitoring reports.

One module per page group (``dashboard``, ``explore``, ``maps``, ``saved_queries``,
``downloads``, ``transparency``, ``monitoring_reports``), with what they share in
``common``. Every page starts from the one filter set on top of the one door
(``visible_to``); anything outside the viewer's scope answers an audited 404 (``deny``);
every view of incident data writes one ``data.viewed`` audit event with the filter and
the row count; every page sends ``Cache-Control: no-store`` (``never_cache``).
"""
