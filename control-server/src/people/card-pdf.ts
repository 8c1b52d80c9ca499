import { PDFDocument } from 'pdf-lib';

/** CR80 (85.6 × 54 mm) in PDF points (1/72 inch). */
export const CARD_PDF_WIDTH_PT = (85.6 / 25.4) * 72;
export const CARD_PDF_HEIGHT_PT = (54 / 25.4) * 72;

/**
 * A one-page PDF of the card at its real size, for card printers and office printers that scale
 * PNGs unpredictably. The page is the card's PNG (300 dpi) unscaled; no metadata but the title.
 */
export async function renderCardPdf(cardPng: Uint8Array, title = "Carte d'accès"): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(title);
  doc.setCreator('Portail');
  doc.setProducer('Portail');
  const png = await doc.embedPng(cardPng);
  const page = doc.addPage([CARD_PDF_WIDTH_PT, CARD_PDF_HEIGHT_PT]);
  page.drawImage(png, { x: 0, y: 0, width: CARD_PDF_WIDTH_PT, height: CARD_PDF_HEIGHT_PT });
  return doc.save();
}
