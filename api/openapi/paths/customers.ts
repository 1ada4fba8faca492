/** The customer routes (api/routes/customers.ts): customers at Plural and their saved cards. */
import { errorResponse, json, ref, withLocation } from '../parts';

export const customerPaths = {
  '/v1/customers': {
    post: {
      tags: ['customers'],
      operationId: 'createCustomer',
      summary: 'Create a customer in Plural’s customer vault, to save cards and pay with them later',
      description:
        'Creates the customer in Plural’s customer vault and answers its `customer_id`: pass it as ' +
        '`customer.customer_id` with `card.save: true` to save a card, and list the saved cards with ' +
        '`GET /v1/customers/{customer_id}/tokens`. Personal data is sent to Plural, not echoed back nor logged.',
      requestBody: { required: true, content: json(ref('CreateCustomerRequest')) },
      responses: {
        '201': withLocation({ description: 'Created.', content: json(ref('Customer')) }),
        '400': errorResponse(
          'A field of the wrong type or format (`error.issues` names it), or Plural refused the customer ' +
            '(`gateway_rejected`, with Plural’s error code).',
        ),
        '401': errorResponse('Missing or invalid API key.'),
        '409': errorResponse('Plural already has a customer with this `merchant_customer_reference`.'),
        '413': errorResponse('Request body larger than the limit.'),
        '415': errorResponse('Body is not JSON.'),
        '503': errorResponse(
          '`gateway_unavailable`: Plural could not be reached or failed (`Retry-After`); ' +
            '`customers_unavailable`: the API has no Plural credentials.',
        ),
      },
    },
  },
  '/v1/customers/{customer_id}/tokens': {
    get: {
      tags: ['customers'],
      operationId: 'listSavedCards',
      summary: 'List the cards saved for a customer',
      description: 'From Plural’s Get Customer Tokens. Pay with one as `card_token: {token_id, cvv}`.',
      parameters: [
        {
          name: 'customer_id',
          in: 'path',
          required: true,
          description: 'The `customer_id` of `POST /v1/customers`.',
          schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' },
        },
      ],
      responses: {
        '200': { description: 'The saved cards.', content: json(ref('SavedCardList')) },
        '400': errorResponse('Malformed customer id.'),
        '401': errorResponse('Missing or invalid API key.'),
        '404': errorResponse('Plural has no such customer.'),
        '503': errorResponse('Plural is unavailable, or the API has no Plural credentials.'),
      },
    },
  },
};
