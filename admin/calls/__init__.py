"""Phone and in-person interviews (/console/calls): the call list, and running a flow with
the interviewer entering the respondent's answers."""
