import { Head, Html, Main, NextScript } from "next/document";

/** The bolt of the header, inline: Studio serves no static files of its own. */
const FAVICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M13.6 2.3c.5-.6 1.4-.2 1.4.5v7.4h6.1c.8 0 1.3 1 .7 1.6l-11.4 9.9c-.5.6-1.4.2-1.4-.5v-7.4H3c-.8 0-1.3-1-.7-1.6z" fill="#3ECF8E"/></svg>',
)}`;

export default function StudioDocument() {
  return (
    <Html lang="en" className="dark">
      <Head>
        <meta name="color-scheme" content="dark" />
        <meta name="theme-color" content="#121212" />
        <link rel="icon" type="image/svg+xml" href={FAVICON} />
      </Head>
      <body>
        <Main />
        <NextScript />
      </body>
    </Html>
  );
}
