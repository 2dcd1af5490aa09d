"""The agency's tender pages, by concern: drafting (the tender form), documents, publication (publish, clarify,
answer questions, cancel), and the custodian's share pages (custody). Forms in forms.py; what the pages share
(the tender the agency runs, its management page) in pages.py. All on the `tendering` blueprint."""
