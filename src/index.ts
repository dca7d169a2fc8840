import { http } from '@google-cloud/functions-framework';
import { createOutboundEventHandler } from './function/outbound-event-handler.js';

http('outboundEventHandler', createOutboundEventHandler());
