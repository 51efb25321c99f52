#!/usr/bin/env python3
"""Writes docs/report.docx: a small Word document with a title, headings, paragraphs,
a tab, a line break and a table, as Word lays them out (styles resolved through
styles.xml). Run from testdata/: python3 make_docx.py"""
import zipfile

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

def p(text, style=None):
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ''
    runs = ''.join(f'<w:r><w:t xml:space="preserve">{t}</w:t></w:r>' for t in text.split('|'))
    return f'<w:p>{ppr}{runs}</w:p>'

def cell(t):
    return f'<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>'

body = ''.join([
    p('Quarterly report', 'Title'),
    p('Summary', 'Kop1'),  # a localized style id, resolved by its name "heading 1"
    p('Sales grew by twelve percent this quarter.| The new shop opened in March.'),
    '<w:p><w:r><w:t>Line one</w:t></w:r><w:r><w:br/></w:r><w:r><w:t>Line two</w:t><w:tab/><w:t>after a tab</w:t></w:r></w:p>',
    p('Figures', 'Kop2'),
    '<w:tbl>' + ''.join('<w:tr>' + ''.join(cell(c) for c in row) + '</w:tr>' for row in
                        [['Region', 'Revenue'], ['North', '1,200'], ['South', '950']]) + '</w:tbl>',
    p('Outlook', 'Kop2'),
    p('We expect steady growth next quarter.'),
])
document = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>'
styles = f'''<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles {W}>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>
<w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/></w:style>
<w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/></w:style>
</w:styles>'''
types = '''<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
</Types>'''
rels = '''<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>'''
with zipfile.ZipFile('docs/report.docx', 'w', zipfile.ZIP_DEFLATED) as z:
    for name, data in [('[Content_Types].xml', types), ('_rels/.rels', rels),
                       ('word/document.xml', document), ('word/styles.xml', styles)]:
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
