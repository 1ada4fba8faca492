/** `POST /v1/customers` and `GET /v1/customers/{id}/tokens`: the gateway's customer vault, for saved cards. */
import { Router } from 'express';
import type { Response } from 'express';
import { DEFAULT_MERCHANT_ID } from '../../workflows/definitions';
import {
  CustomerExistsError,
  CustomerNotFoundError,
  GatewayRejectedError,
  GatewayUnavailableError,
} from '../customers';
import type { CustomerDirectory, CustomerRecord, NewCustomer, SavedCardRecord } from '../customers';
import { badRequest, conflict, notFound, unavailable } from '../errors';
import { jsonBody, methodNotAllowed, parse } from '../http';
import { CreateCustomerSchema, CUSTOMER_ID_PATTERN, CustomerIdSchema, RULE_ERROR_CODE } from '../schemas';
import type { RouteContext } from './context';

const customerResource = (c: CustomerRecord) => ({
  object: 'customer',
  customer_id: c.customerId,
  merchant_customer_reference: c.merchantCustomerReference,
  status: c.status ?? null,
  created_at: c.createdAt ?? null,
});

const savedCardResource = (c: SavedCardRecord) => ({
  object: 'saved_card',
  token_id: c.tokenId,
  status: c.status ?? null,
  last4: c.last4 ?? null,
  expiry_month: c.expiryMonth ?? null,
  expiry_year: c.expiryYear ?? null,
  network: c.network ?? null,
  expires_at: c.expiresAt ?? null,
  created_at: c.createdAt ?? null,
});

export function customerRoutes(ctx: RouteContext): Router {
  const { options, logger } = ctx;
  const router = Router();

  /** The customer vault of the request's merchant (its own Plural account). */
  function customerDirectory(res: Response): CustomerDirectory {
    const merchantId = ctx.merchantOf(res);
    const directory = options.customersFor
      ? options.customersFor(merchantId)
      : merchantId === DEFAULT_MERCHANT_ID
        ? options.customers
        : undefined;
    if (directory) return directory;
    throw unavailable(
      'customers_unavailable',
      'customers are not available: the API has no gateway credentials (PLURAL_BASE_URL, PLURAL_CLIENT_ID, PLURAL_CLIENT_SECRET)',
    );
  }

  /** The customer port's errors as answers; anything else goes on to the error middleware. */
  function customerError(err: unknown): unknown {
    if (err instanceof CustomerExistsError) return conflict('customer_exists', err.message);
    if (err instanceof CustomerNotFoundError) return notFound('customer_not_found', err.message);
    if (err instanceof GatewayRejectedError) return badRequest('gateway_rejected', err.message);
    if (err instanceof GatewayUnavailableError) {
      logger.warn({ operation: err.operation, reason: err.reason }, 'gateway unavailable');
      return unavailable('gateway_unavailable', err.message, 5);
    }
    return err;
  }

  router
    .route('/v1/customers')
    .post(...ctx.merchant, async (req, res) => {
      const body = parse(CreateCustomerSchema, jsonBody(req, true), 'customer request');
      const directory = customerDirectory(res);
      const customer: NewCustomer = { merchantCustomerReference: body.merchant_customer_reference };
      if (body.first_name !== undefined) customer.firstName = body.first_name;
      if (body.last_name !== undefined) customer.lastName = body.last_name;
      if (body.email !== undefined) customer.email = body.email;
      if (body.mobile_number !== undefined) customer.mobileNumber = body.mobile_number;
      if (body.country_code !== undefined) customer.countryCode = body.country_code;
      if (body.billing_address !== undefined) customer.billingAddress = { ...body.billing_address };
      if (body.shipping_address !== undefined) customer.shippingAddress = { ...body.shipping_address };
      if (body.merchant_metadata !== undefined) customer.merchantMetadata = { ...body.merchant_metadata };
      let created: CustomerRecord;
      try {
        created = await directory.create(customer);
      } catch (err) {
        throw customerError(err);
      }
      res.location(`/v1/customers/${encodeURIComponent(created.customerId)}/tokens`);
      res.status(201).json(customerResource(created));
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/v1/customers/:customer_id/tokens')
    .get(ctx.authenticate, async (req, res) => {
      const customerId = req.params.customer_id;
      if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) {
        throw badRequest('invalid_customer_id', 'customer_id in the path must be 1-100 letters, digits, _ or -');
      }
      if (!CustomerIdSchema.safeParse(customerId).success) {
        throw badRequest(RULE_ERROR_CODE.CARD_NUMBER_IN_TEXT, 'customer_id in the path must not be a card number');
      }
      const directory = customerDirectory(res);
      let cards: SavedCardRecord[];
      try {
        cards = await directory.savedCards(customerId);
      } catch (err) {
        throw customerError(err);
      }
      res.json({ object: 'list', customer_id: customerId, data: cards.map(savedCardResource) });
    })
    .all(methodNotAllowed('GET'));

  return router;
}
