"""Campaign materials: printed posters, guides, walk sheets and flyers (PDF), loudspeaker
broadcast scripts with synthetic audio, scheduled reports (XLSX, PDF, e-mail) and the DHIS2 push.

Everything here renders figures it is given (:mod:`.figures`); the numbers themselves come from
the campaign's coverage service. See docs/campaign-materials.md.
"""
