"""Personal QR letters for respondents who do not follow the account yet
(/console/respondents/letters): choose whom, then print one A4 letter each."""
