// vim25 SOAP envelopes, built and read with fast-xml-parser: values are
// escaped by the builder, never spliced into strings.
import { XMLBuilder, XMLParser } from 'fast-xml-parser'
import { z } from 'zod'

export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
export const VIM25 = 'urn:vim25'

export interface MoRef {
  type: string
  value: string
}

/** A parameter of a vim25 method: a text value, or a managed object reference. */
export type SoapParam = string | MoRef

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  suppressEmptyNode: false,
})

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  removeNSPrefix: true,
  // Values stay strings: a build number or password must not become a number.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
})

/** `<Method xmlns="urn:vim25"><_this type="T">v</_this><a>..</a></Method>` in a SOAP envelope. */
export function buildRequest(
  method: string,
  self: MoRef,
  params: [string, SoapParam][] = [],
): string {
  const body: Record<string, unknown> = {
    '@_xmlns': VIM25,
    _this: { '@_type': self.type, '#text': self.value },
  }
  for (const [name, value] of params) {
    body[name] = typeof value === 'string' ? value : { '@_type': value.type, '#text': value.value }
  }
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    'soapenv:Envelope': {
      '@_xmlns:soapenv': SOAP_ENV,
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'soapenv:Body': { [method]: body },
    },
  })
}

const Fault = z.object({
  faultcode: z.string().optional(),
  faultstring: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
})

export interface SoapFault {
  /** The vim25 fault type, from xsi:type or the detail element's name (InvalidLogin, ...). */
  type: string
  message: string
}

export type SoapResult =
  { ok: true; body: Record<string, unknown> } | { ok: false; fault: SoapFault }

const Envelope = z.object({
  Envelope: z.object({ Body: z.record(z.string(), z.unknown()) }),
})

export class SoapProtocolError extends Error {
  override name = 'SoapProtocolError'
}

/** Reads a response envelope: the body's single element, or the fault it carries. */
export function parseResponse(xml: string): SoapResult {
  let doc: unknown
  try {
    doc = parser.parse(xml)
  } catch (err) {
    throw new SoapProtocolError(`the answer is not XML: ${(err as Error).message}`)
  }
  const env = Envelope.safeParse(doc)
  if (!env.success) throw new SoapProtocolError('the answer is not a SOAP envelope')
  const body = env.data.Envelope.Body
  if ('Fault' in body) {
    const f = Fault.safeParse(body.Fault)
    if (!f.success) throw new SoapProtocolError('the answer is a SOAP fault without faultstring')
    const detail = f.data.detail ?? {}
    const [detailName, detailValue] = Object.entries(detail)[0] ?? []
    const xsiType =
      typeof detailValue === 'object' && detailValue !== null
        ? (detailValue as Record<string, unknown>)['@_type']
        : undefined
    const type =
      typeof xsiType === 'string'
        ? xsiType.replace(/^.*:/, '')
        : (detailName ?? f.data.faultcode ?? 'Fault').replace(/Fault$/, '')
    return { ok: false, fault: { type, message: f.data.faultstring ?? '' } }
  }
  return { ok: true, body }
}

/** A whole response envelope around `body`, as a host sends it. */
function responseEnvelope(body: Record<string, unknown>): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    'soapenv:Envelope': {
      '@_xmlns:soapenc': 'http://schemas.xmlsoap.org/soap/encoding/',
      '@_xmlns:soapenv': SOAP_ENV,
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'soapenv:Body': body,
    },
  })
}

/** Builds a response envelope (the test fake answers with these). */
export function buildResponse(method: string, returnval?: Record<string, unknown>): string {
  return responseEnvelope({
    [`${method}Response`]: { '@_xmlns': VIM25, ...(returnval ? { returnval } : {}) },
  })
}

/** Builds a fault envelope: ServerFaultCode, the message, and the typed detail. */
export function buildFault(
  type: string,
  message: string,
  detail: Record<string, unknown> = {},
): string {
  return responseEnvelope({
    'soapenv:Fault': {
      faultcode: 'ServerFaultCode',
      faultstring: message,
      detail: { [`${type}Fault`]: { '@_xmlns': VIM25, '@_xsi:type': type, ...detail } },
    },
  })
}

/** A managed object reference as the parser reads it: `<x type="T">value</x>`. */
export const MoRefXml = z.object({ '@_type': z.string(), '#text': z.string() })

/** Parses a request (the fake's side): method name, `_this`, and the other parameters. */
export function parseRequest(xml: string): {
  method: string
  self?: MoRef
  params: Record<string, unknown>
} {
  const r = parseResponse(xml)
  if (!r.ok) throw new SoapProtocolError('a request cannot be a fault')
  const [method, raw] = Object.entries(r.body)[0] ?? []
  if (method === undefined) throw new SoapProtocolError('the request body is empty')
  const params = { ...((raw ?? {}) as Record<string, unknown>) }
  const self = MoRefXml.safeParse(params._this)
  delete params._this
  delete params['@_xmlns']
  return {
    method,
    ...(self.success ? { self: { type: self.data['@_type'], value: self.data['#text'] } } : {}),
    params,
  }
}
