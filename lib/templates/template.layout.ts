/** The parts of the brand that change the MJML structure itself; the rest is filled in per send. */
export interface LayoutBrand {
  primaryColor: string;
  hasLogo: boolean;
}

/** `#rgb` or `#rrggbb`: the colour forms MJML accepts in its colour attributes. */
export const LAYOUT_COLOUR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * `#rrggbb` for `#rgb`. MJML expands the short form in some attributes and not in others, so the
 * layout is always given the long form: one colour, written one way, in every place.
 */
export function toLongHexColour(colour: string): string {
  return colour.length === 4 ? `#${[...colour.slice(1)].map((digit) => digit + digit).join('')}` : colour;
}

/** The layout's own words, per language; a language without an entry gets the English ones. */
interface LayoutStrings {
  /** Sentence asking for questions by email; `{address}` stands for the support address link. */
  questions: string;
  sentBy: string;
}

const LAYOUT_STRINGS: Record<string, LayoutStrings> = {
  en: { questions: 'Questions? Write to {address}.', sentBy: 'Sent by {{brand.name}}.' },
  fr: { questions: 'Une question\u00a0? Écrivez-nous à {address}.', sentBy: 'Envoyé par {{brand.name}}.' },
  de: { questions: 'Fragen? Schreiben Sie uns an {address}.', sentBy: 'Gesendet von {{brand.name}}.' },
  es: { questions: '¿Tienes preguntas? Escríbenos a {address}.', sentBy: 'Enviado por {{brand.name}}.' },
  pt: { questions: 'Dúvidas? Escreva para {address}.', sentBy: 'Enviado por {{brand.name}}.' },
};

/** `pt-br` → `pt-BR`: the case BCP 47 recommends, as the html `lang` attribute carries it. */
export function toLanguageTag(tag: string): string {
  const [language, ...rest] = tag.split('-');
  return [language.toLowerCase(), ...rest.map((part) => (part.length === 2 ? part.toUpperCase() : part.toLowerCase()))].join('-');
}

/**
 * Wraps a template body (one or more `<mj-section>`) in the shared layout: brand header, white card,
 * footer with the support address, in `language` (the file's locale or front matter `lang:`). Colours
 * are fixed here because MJML validates attribute values.
 */
export function wrapInLayout(body: string, brand: LayoutBrand, language = ''): string {
  const strings = LAYOUT_STRINGS[language.toLowerCase().split('-')[0]] ?? LAYOUT_STRINGS.en;
  const supportLink = '<a href="mailto:{{brand.supportEmail}}" style="color:#6b7280">{{brand.supportEmail}}</a>';
  // Without a language (a locale-neutral file of the app's that does not say), MJML's "und" stays.
  // The footer's lines join without whitespace, which would start the text part's lines with spaces.
  const lang = language ? ` lang="${toLanguageTag(language)}"` : '';
  const header = brand.hasLogo
    ? '<mj-image src="{{brand.logoUrl}}" alt="{{brand.name}}" width="140px" align="left" padding="0 24px" />'
    : `<mj-text font-size="20px" font-weight="bold" color="${brand.primaryColor}" padding="0 24px">{{brand.name}}</mj-text>`;
  return `<mjml${lang}>
  <mj-head>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" />
      <mj-text font-size="16px" line-height="24px" color="#1f2933" padding="8px 24px" />
      <mj-button background-color="${brand.primaryColor}" color="#ffffff" font-size="16px" font-weight="bold" border-radius="6px" inner-padding="12px 24px" padding="16px 24px" align="left" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f5f7" width="600px">
    <mj-section padding="24px 0 12px">
      <mj-column>
        ${header}
      </mj-column>
    </mj-section>
    <mj-wrapper background-color="#ffffff" border-radius="8px" padding="16px 0" border-top="4px solid ${brand.primaryColor}">
${body}
    </mj-wrapper>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text font-size="12px" line-height="18px" color="#6b7280" align="center">
          {{#if brand.supportEmail}}${strings.questions.replace('{address}', supportLink)}<br />{{/if}}{{#if brand.postalAddress}}{{brand.postalAddress}}<br />{{/if}}${strings.sentBy}
        </mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
}
